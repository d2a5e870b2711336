#!/usr/bin/env bash
# Run by "mvn verify" before the notebook tests (maven-antrun-plugin, pre-integration-test): the
# notebooks are executed in real Jupyter (Debian's packages) and an exported one is checked in
# headless Chromium. Installs what is missing when it can (root with apt-get); otherwise stops
# with one line that says what to install. The kernels themselves are installed by the tests,
# into a scratch JUPYTER_PATH.
set -euo pipefail

need=()
command -v jupyter-nbconvert >/dev/null || need+=(jupyter-nbconvert)
/usr/bin/python3 -c 'import nbclient' 2>/dev/null || need+=(python3-nbclient)
/usr/bin/python3 -c 'import jupyter_client' 2>/dev/null || need+=(jupyter-client)
/usr/bin/python3 -c 'import ipykernel' 2>/dev/null || need+=(python3-ipykernel)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)
# rapaio's kernel (./headlens install-kernel) runs on Java 21 or newer
java21=""
for java in "${JAVA_HOME:-/nonexistent}/bin/java" /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
  if [ -x "$java" ] && "$java" -version 2>&1 | grep -Eq 'version "(2[1-9]|[3-9][0-9])'; then java21="$java"; break; fi
done
if [ -z "$java21" ]; then
  for candidate in openjdk-25-jre-headless openjdk-21-jre-headless; do
    if apt-cache policy "$candidate" 2>/dev/null | grep -q 'Candidate: [0-9]'; then need+=("$candidate"); java21=apt; break; fi
  done
  if [ -z "$java21" ]; then
    echo "notebook tests: rapaio's kernel needs a Java 21 or newer and none was found; install one (e.g. Temurin 21 or 25 from adoptium.net into /usr/lib/jvm, or openjdk-21-jre-headless where Debian has it), then run mvn -B verify again" >&2
    exit 1
  fi
fi
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "notebook tests: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  exit 0
fi
echo "notebook tests: install the Debian packages ${need[*]} (apt-get install ${need[*]}), then run mvn -B verify again" >&2
exit 1
