"""nbgrader's exchange on a shared server, closed where nbgrader leaves it open
(deploy/jupyterhub/, docs/course.md "On a JupyterHub").

nbgrader's default exchange hides a submission only by its folder's name: ``submit`` leaves the
folder mode 0777 and its files 0644 (jupyter/nbgrader#978), so anyone who learns the name (a
shell history, a screenshot, a listing shown by mistake) reads the work and its
``submission_secret.txt``, and with that secret fetches its feedback. ``collect`` only *warns*
when a folder named ``bob+ps1+…`` belongs to alice, and then grades alice's files as bob's.

- ``PrivateSubmit``: after nbgrader's own submit, the submission's folder is mode 0770. The recipe
  makes ``inbound/`` setgid to the staff group, so that folder belongs to the staff group from
  the moment it is made: the owner and the staff enter it, nobody else does, whatever the modes
  inside (nbgrader's 0644 files stay readable for the staff). Only the folder: the files inside
  keep the student's own group (a student cannot give a file to a group it is not in; nbgrader's
  copy even resets the folder's setgid bit), so it is the folder that closes them. Between
  nbgrader's chmod 0777 and this one the folder is open for microseconds, under a name with a
  random part that nobody can list.
- ``OwnerCheckedCollect``: a submission whose folder is not owned by the student it names is not
  collected; the instructor sees an error naming both, and the student's own latest submission
  is collected as if the impostor's were not there.

Both are nbgrader's own plugins with one step added (``c.ExchangeFactory.submit`` /
``.collect``), so every other behaviour, option and message stays nbgrader's.
"""

from __future__ import annotations

import os
import pwd

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.submit import ExchangeSubmit

# nbgrader's 0777 meant that the instructor may delete a submission; the staff group still may.
PRIVATE_FOLDER = 0o770


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, then the submission closed to everyone but its owner and the staff."""

    def copy_files(self):
        super().copy_files()
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), PRIVATE_FOLDER)


def owner_of(path: str) -> str:
    uid = os.stat(path).st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class OwnerCheckedCollect(ExchangeCollect):
    """nbgrader's collect, but a submission is collected only from the account it names."""

    def _path_to_record(self, path):
        record = super()._path_to_record(path)
        record["owner"] = owner_of(path)
        if record["owner"] != record["username"]:
            self.log.error("Not collected: %s names %s but belongs to %s / 提出者の名前と所有者が違うため回収しません",
                           record["filename"], record["username"], record["owner"])
        return record

    def _sort_by_timestamp(self, records):
        # nbgrader takes the first record of each student's group: the genuine ones come first,
        # newest first, so that a later impostor never hides the student's own submission.
        genuine = [r for r in records if r["owner"] == r["username"]]
        impostors = [r for r in records if r["owner"] != r["username"]]
        return super()._sort_by_timestamp(genuine) + impostors

    def init_src(self):
        super().init_src()
        # A student with impostors' submissions only is not collected at all.
        self.src_records = [r for r in self.src_records if r["owner"] == r["username"]]
