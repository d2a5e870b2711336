package org.headlens.data;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Generator of the synthetic main-object dataset: one shape per image, drawn in one of several
 * styles and colours, at a random position, scale and rotation, over a varied background, with a
 * per-pixel mask. Deterministic from a seed: sample {@code i} of a seed is always the same.
 *
 * <p>Styles and colours change how an object looks, not what it is, so that attributions of
 * samples sharing a class across styles can be compared with those sharing a style across classes.
 */
public final class SyntheticShapes {
    /** Object classes; each is one word and one token of the tiny model. */
    public static final List<String> SHAPES = List.of("circle", "square", "triangle", "star", "cross", "heart", "diamond", "hexagon");
    /** Appearance styles. */
    public static final List<String> STYLES = List.of("filled", "outline", "striped", "dotted");
    /** Backgrounds. */
    public static final List<String> BACKGROUNDS = List.of("plain", "gradient", "noise", "clutter");
    /** Object colours. */
    public static final List<String> COLOURS = List.of("red", "green", "blue", "yellow", "purple", "orange");
    /** Largest rotation either way, in degrees. */
    public static final double MAX_ROTATION_DEGREES = 30;
    private static final Color[] RGB = {new Color(220, 40, 40), new Color(40, 170, 60), new Color(40, 80, 220),
        new Color(235, 210, 30), new Color(150, 50, 190), new Color(245, 140, 20)};

    private final int size;
    private final long seed;

    /**
     * @param size image side in pixels
     * @param seed dataset seed
     */
    public SyntheticShapes(int size, long seed) {
        this.size = size;
        this.seed = seed;
    }

    /**
     * Sample {@code index}, with class and style chosen by the index so that a split is balanced.
     *
     * @param prefix id prefix (e.g. the split name)
     * @param index sample index
     * @return the sample
     */
    public ShapeSample sample(String prefix, int index) {
        return sample(prefix, index, false);
    }

    /**
     * Sample {@code index}, or its easy variant: filled, upright, on a plain background. A vision
     * transformer trained from scratch learns shapes from easy samples several times faster than
     * from the full mix, so training starts with them.
     *
     * @param prefix id prefix
     * @param index sample index
     * @param easy whether to draw the easy variant
     * @return the sample
     */
    public ShapeSample sample(String prefix, int index, boolean easy) {
        Random random = new Random(mix(seed * 1_000_003L + index));
        String shape = SHAPES.get(index % SHAPES.size());
        String style = easy ? "filled" : STYLES.get((index / SHAPES.size()) % STYLES.size());
        String background = BACKGROUNDS.get(random.nextInt(BACKGROUNDS.size()));
        int colourIndex = random.nextInt(COLOURS.size());
        return render(prefix + "-" + String.format("%04d", index), shape, style, colourIndex, easy ? "plain" : background,
                !easy, random);
    }

    private ShapeSample render(String id, String shape, String style, int colourIndex, String background, boolean rotate,
            Random random) {
        BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        Color colour = RGB[colourIndex];
        paintBackground(image, g, background, colour, random);

        // objects cover 40-54% of the side: with 8-pixel patches that is 3-4 patches across, and
        // smaller objects slowed the vision tower's learning (0.69 against 0.60 after 2000 steps)
        double scale = size * (0.40 + 0.14 * random.nextDouble());
        double margin = scale * 0.75;
        double cx = margin + random.nextDouble() * (size - 2 * margin);
        double cy = margin + random.nextDouble() * (size - 2 * margin);
        AffineTransform placement = new AffineTransform();
        placement.translate(cx, cy);
        // within +-30 degrees: a square turned by 45 degrees is a diamond and a cross an X, so a
        // full turn would make classes overlap (and it also slows learning several-fold)
        double rotation = Math.toRadians((random.nextDouble() * 2 - 1) * MAX_ROTATION_DEGREES);
        placement.rotate(rotate ? rotation : 0);
        placement.scale(scale, scale);
        Shape outline = placement.createTransformedShape(unitShape(shape));

        g.setColor(colour);
        float stroke = (float) Math.max(1.5, size / 20.0);
        // striped and dotted objects keep a clear contour, so the texture changes the look but
        // never hides the shape (a 1-pixel contour cost 10 points of vision accuracy); the texture
        // repeats every 4-5 pixels, finer than a patch, because with a period of one patch (8
        // pixels) a striped square often looked like a cross to the model
        float contour = stroke * 0.7f;
        switch (style) {
            case "filled":
                g.fill(outline);
                break;
            case "outline":
                g.setStroke(new BasicStroke(stroke));
                g.draw(outline);
                break;
            case "striped": {
                g.setClip(outline);
                double angle = random.nextDouble() * Math.PI;
                g.rotate(angle, cx, cy);
                for (double x = cx - size; x < cx + size; x += stroke * 1.6) {
                    g.fill(new Rectangle2D.Double(x, cy - size, stroke * 0.8, 2 * size));
                }
                g.setTransform(new AffineTransform());
                g.setClip(null);
                g.setStroke(new BasicStroke(contour));
                g.draw(outline);
                break;
            }
            default: { // dotted
                g.setClip(outline);
                double step = stroke * 1.5;
                for (double y = 0; y < size; y += step) {
                    for (double x = (y / step) % 2 == 0 ? 0 : step / 2; x < size; x += step) {
                        g.fill(new Ellipse2D.Double(x, y, stroke * 0.8, stroke * 0.8));
                    }
                }
                g.setClip(null);
                g.setStroke(new BasicStroke(contour));
                g.draw(outline);
            }
        }
        g.dispose();

        BufferedImage maskImage = new BufferedImage(size, size, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D m = maskImage.createGraphics();
        m.setColor(Color.WHITE);
        m.fill(outline);
        m.dispose();
        boolean[][] mask = new boolean[size][size];
        int minX = size;
        int minY = size;
        int maxX = -1;
        int maxY = -1;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                if ((maskImage.getRGB(x, y) & 0xff) > 127) {
                    mask[y][x] = true;
                    minX = Math.min(minX, x);
                    minY = Math.min(minY, y);
                    maxX = Math.max(maxX, x);
                    maxY = Math.max(maxY, y);
                }
            }
        }
        int[] box = {minX, minY, maxX - minX + 1, maxY - minY + 1};
        return new ShapeSample(id, image, mask, shape, style, COLOURS.get(colourIndex), background, box);
    }

    private void paintBackground(BufferedImage image, Graphics2D g, String background, Color object, Random random) {
        Color base = backgroundColour(object, random);
        switch (background) {
            case "plain":
                g.setColor(base);
                g.fillRect(0, 0, size, size);
                break;
            case "gradient":
                g.setPaint(new GradientPaint(0, 0, base, size, size * random.nextFloat(), backgroundColour(object, random)));
                g.fillRect(0, 0, size, size);
                break;
            case "noise": {
                int rgb = base.getRGB();
                for (int y = 0; y < size; y++) {
                    for (int x = 0; x < size; x++) {
                        int n = (int) (random.nextGaussian() * 22);
                        int r = clamp(((rgb >> 16) & 0xff) + n);
                        int gr = clamp(((rgb >> 8) & 0xff) + n);
                        int b = clamp((rgb & 0xff) + n);
                        image.setRGB(x, y, (r << 16) | (gr << 8) | b);
                    }
                }
                break;
            }
            default: { // clutter: small strokes and specks that are not any class
                g.setColor(base);
                g.fillRect(0, 0, size, size);
                for (int i = 0; i < 10; i++) {
                    g.setColor(RGB[random.nextInt(RGB.length)].darker());
                    double x = random.nextDouble() * size;
                    double y = random.nextDouble() * size;
                    double len = size * (0.03 + 0.05 * random.nextDouble());
                    g.setStroke(new BasicStroke(1f));
                    if (i % 2 == 0) {
                        g.draw(new java.awt.geom.Line2D.Double(x, y, x + len, y + len * (random.nextDouble() - 0.5)));
                    } else {
                        g.fill(new Ellipse2D.Double(x, y, len / 2, len / 2));
                    }
                }
            }
        }
    }

    /** A pale or dark grey-ish colour far from every object colour. */
    private static Color backgroundColour(Color object, Random random) {
        boolean light = random.nextBoolean();
        int level = light ? 200 + random.nextInt(50) : 20 + random.nextInt(50);
        int tint = random.nextInt(21) - 10;
        return new Color(clamp(level + tint), clamp(level), clamp(level - tint));
    }

    /** Consecutive java.util.Random seeds give correlated first draws; mixing the bits avoids that. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    /** The class's outline in a unit box centred on the origin. */
    static Shape unitShape(String shape) {
        switch (shape) {
            case "circle":
                return new Ellipse2D.Double(-0.5, -0.5, 1, 1);
            case "square":
                return new Rectangle2D.Double(-0.45, -0.45, 0.9, 0.9);
            case "triangle":
                return polygon(3, 0.6, 0);
            case "diamond":
                return polygon(4, 0.6, 0).createTransformedShape(AffineTransform.getScaleInstance(0.65, 1));
            case "hexagon":
                return polygon(6, 0.55, 0);
            case "star": {
                double[][] points = new double[10][];
                for (int i = 0; i < 10; i++) {
                    double r = i % 2 == 0 ? 0.6 : 0.25;
                    double a = -Math.PI / 2 + i * Math.PI / 5;
                    points[i] = new double[] {r * Math.cos(a), r * Math.sin(a)};
                }
                return closedPath(points);
            }
            case "cross": {
                double a = 0.17;
                double b = 0.5;
                return closedPath(new double[][] {{-a, -b}, {a, -b}, {a, -a}, {b, -a}, {b, a}, {a, a}, {a, b}, {-a, b},
                    {-a, a}, {-b, a}, {-b, -a}, {-a, -a}});
            }
            case "heart": {
                Path2D.Double path = new Path2D.Double();
                path.moveTo(0, 0.45);
                path.curveTo(-0.65, 0.0, -0.45, -0.55, 0, -0.22);
                path.curveTo(0.45, -0.55, 0.65, 0.0, 0, 0.45);
                path.closePath();
                return path;
            }
            default:
                throw new IllegalArgumentException("unknown shape " + shape);
        }
    }

    private static Path2D polygon(int corners, double radius, double phase) {
        double[][] points = new double[corners][];
        for (int i = 0; i < corners; i++) {
            double a = -Math.PI / 2 + phase + i * 2 * Math.PI / corners;
            points[i] = new double[] {radius * Math.cos(a), radius * Math.sin(a)};
        }
        return closedPath(points);
    }

    private static Path2D closedPath(double[][] points) {
        Path2D.Double path = new Path2D.Double();
        path.moveTo(points[0][0], points[0][1]);
        for (int i = 1; i < points.length; i++) {
            path.lineTo(points[i][0], points[i][1]);
        }
        path.closePath();
        return path;
    }

    /**
     * The first {@code count} samples of a split.
     *
     * @param prefix split name
     * @param count how many
     * @return the samples
     */
    public List<ShapeSample> samples(String prefix, int count) {
        List<ShapeSample> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            list.add(sample(prefix, i));
        }
        return list;
    }
}
