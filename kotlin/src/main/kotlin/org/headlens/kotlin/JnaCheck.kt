package org.headlens.kotlin

/**
 * DJL probes for CUDA through JNA. The Kotlin kernel's own class path carries an older JNA (from
 * the Kotlin compiler) whose native library the kernel's class loader hands out to notebook code,
 * so on a kernel not installed by `./headlens install-kernel --kernel kotlin` JNA's classes and
 * its native library can disagree, and DJL then fails to load PyTorch at all. Checked once, when
 * headlens is loaded: if JNA cannot start, DJL is told to skip the probe, and the model runs on
 * the CPU.
 */
internal object JnaCheck {
    /** DJL's own switch that keeps CudaUtils from loading JNA. */
    const val SKIP_CUDA_PROBE = "ai.djl.util.cuda.fork"

    /** @return a one-line note when JNA could not start and the CUDA probe was turned off; null when JNA works */
    fun disableCudaProbeIfBroken(): String? {
        val problem = try {
            Class.forName("com.sun.jna.Native", true, JnaCheck::class.java.classLoader)
            return null
        } catch (e: Throwable) {
            // an Error from JNA's static initialiser (a version mismatch), or a class that will not link
            summary(e)
        }
        System.setProperty(SKIP_CUDA_PROBE, "true")
        return "headlens: JNA cannot start in this kernel ($problem); GPU detection is off and models run on the CPU." +
            " A kernel installed by './headlens install-kernel --kernel kotlin' has a JNA that matches."
    }

    /** JNA's message spreads over many lines; its first sentence and the versions are enough. */
    internal fun summary(e: Throwable): String {
        val text = (e.message ?: e.javaClass.simpleName).replace(Regex("\\s+"), " ").trim()
        return text.substringBefore(" (at ").substringBefore(" To resolve").ifEmpty { e.javaClass.simpleName }
    }
}
