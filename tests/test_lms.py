"""From the LMS and back: the Moodle and Canvas plugins under the real nbgrader.

Every import test builds the zip an LMS would give (names as Moodle's and Canvas's own code
writes them, docs/lms.md), puts it where ``nbgrader zip_collect`` looks, and runs nbgrader
itself in a temporary course. Export tests fill a real gradebook through nbgrader's API and
run ``nbgrader export`` with the exporters, then read the CSV back the way each LMS does.
No TensorFlow, no mocks of nbgrader.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jupyter_core.application import NoStart
from nbgrader.api import Gradebook
from nbgrader.apps.nbgraderapp import NbGraderApp

from mnist_course.lms import LMSCollector
from mnist_course.lms.canvas import CanvasCollector
from mnist_course.lms.moodle import MoodleCollector, parse_moodle_time
from mnist_course.lms.roster import StudentList, format_points

# nbgrader's own add_submission trips these SQLAlchemy warnings; they are not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COURSE_ID = "lms-test"
EXTRACTOR = "--extractor=mnist_course.lms.LMSExtractor"
MOODLE = "--collector=mnist_course.lms.moodle.MoodleCollector"
CANVAS = "--collector=mnist_course.lms.canvas.CanvasCollector"

STUDENTS = [  # nbgrader's student list: id, first, last, e-mail
    ("s001", "Hanako", "Yamada", "hanako@uni.example"),
    ("s002", "Taro", "Suzuki", "taro@uni.example"),
    ("s003", "Jiro", "Sato", "Jiro.Sato@uni.example"),
    ("s005", "Yuki", "Kato", "yuki@uni.example"),
    ("s006", "Mai", "Ito", "mai@uni.example"),
    ("s007", "Kenji", "Ogawa", "kenji@uni.example"),
    ("s008", "Aya", "Mori", "aya@uni.example"),
]


def notebook(tag: str) -> bytes:
    """A minimal valid notebook whose content says who handed it in."""
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": tag}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


@dataclass
class Run:
    returncode: int
    log: str


def run_nbgrader_command(course: Path, *args: str) -> Run:
    """The ``nbgrader`` command exactly as an instructor types it, finding this checkout's plugins."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs alembic from PATH
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=180)
    return Run(done.returncode, done.stdout + done.stderr)


def run_nbgrader(course: Path, *args: str) -> Run:
    """nbgrader's real application, in this process, the way nbgrader's own tests run it.

    Importing nbgrader's apps takes seconds; paying that once keeps these tests fast. The
    command line above runs the very same application class.
    """
    old_cwd, old_path = os.getcwd(), list(sys.path)
    log = io.StringIO()
    app = NbGraderApp.instance()
    os.chdir(course)
    try:
        app.initialize(list(args))
        app.init_logging(logging.StreamHandler, [log], color=False, subapps=True)
        app.start()
        code = 0
    except NoStart:
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        app.reset()
        os.chdir(old_cwd)
        sys.path[:] = old_path
    return Run(code, log.getvalue())


@pytest.fixture(scope="session")
def empty_gradebook(tmp_path_factory) -> Path:
    """A new gradebook file, made once: creating one runs ``alembic`` (from PATH), which is slow."""
    path = tmp_path_factory.mktemp("template") / "gradebook.db"
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{BIN}{os.pathsep}{old_path}"
    try:
        Gradebook(f"sqlite:///{path}", COURSE_ID).close()
    finally:
        os.environ["PATH"] = old_path
    return path


@pytest.fixture
def course(tmp_path: Path, empty_gradebook: Path) -> Path:
    """A course with ps1 released (a notebook and two task modules) and a student list."""
    root = tmp_path / "course"
    release = root / "release" / "ps1"
    (release / "mnist_tasks").mkdir(parents=True)
    (release / "ps1_preprocessing.ipynb").write_bytes(notebook("released"))
    (release / "mnist_tasks" / "preprocessing.py").write_text("# stub\n")
    (release / "mnist_tasks" / "models.py").write_text("# stub\n")
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
        "c.MoodleCollector.timezone = 'Asia/Tokyo'\n")
    shutil.copy(empty_gradebook, root / "gradebook.db")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        for sid, first, last, email in STUDENTS:
            gb.add_student(sid, first_name=first, last_name=last, email=email)
    (root / "downloaded" / "ps1" / "archive").mkdir(parents=True)
    return root


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def damage_member(path: Path, member: str) -> None:
    """Flip one byte of a stored member's data, so that reading it fails its CRC check."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
        assert info.compress_type == zipfile.ZIP_STORED
    data = bytearray(path.read_bytes())
    header = info.header_offset
    name_len = int.from_bytes(data[header + 26:header + 28], "little")
    extra_len = int.from_bytes(data[header + 28:header + 30], "little")
    start = header + 30 + name_len + extra_len
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)


def submitted(course: Path, student: str) -> Path:
    return course / "submitted" / student / "ps1"


# --- Moodle ---------------------------------------------------------------------------------

MOODLE_WORKSHEET = [  # Moodle's "Download grading worksheet", English, as mod/assign writes it
    ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum grade",
     "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"],
    ["Participant 101", "Hanako Yamada", "HANAKO@uni.example", "Submitted for grading", "", "10.00",
     "Yes", "Wednesday, 1 May 2024, 5:05 PM", "-", ""],
    ["Participant 102", "Taro Suzuki", "taro@uni.example", "Submitted for grading", "", "10.00", "Yes", "-", "-", ""],
    ["Participant 104", "Nobody Known", "nobody@elsewhere.example", "Submitted for grading", "", "10.00",
     "Yes", "Wednesday, 1 May 2024, 9:00 AM", "-", ""],
    ["Participant 105", "Yuki Kato", "yuki@uni.example", "Submitted for grading", "", "10.00", "Yes",
     "Wednesday, 1 May 2024, 9:00 AM", "-", ""],
    ["Participant 106", "Mai Ito", "mai@uni.example", "Submitted for grading", "", "10.00", "Yes",
     "Wednesday, 1 May 2024, 9:00 AM", "-", ""],
    # The worksheet of a Japanese Moodle writes times the Japanese way.
    ["Participant 107", "Kenji Ogawa", "kenji@uni.example", "Submitted for grading", "", "10.00", "Yes",
     "2024年 05月 02日(木曜日) 09:30", "-", ""],
    ["Participant 108", "Aya Mori", "aya@uni.example", "Submitted for grading", "", "10.00", "Yes",
     "Wednesday, 1 May 2024, 9:00 AM", "-", ""],
]


def moodle_download(course: Path) -> Path:
    """A Moodle download: folder per student (Moodle >= 3.1), one flat zip, one broken zip."""
    archive = course / "downloaded" / "ps1" / "archive"
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w") as inner:  # a student who uploaded her folder as a zip
        inner.writestr("ps1/ps1_preprocessing.ipynb", notebook("s002"))
        inner.writestr("ps1/mnist_tasks/models.py", "# s002 models\n")
        inner.writestr("__MACOSX/ps1/._models.py", b"junk")
    folders = archive / "MNIST-ps1-42.zip"
    write_zip(folders, {
        "Yamada Hanako_101_assignsubmission_file_/ps1_preprocessing.ipynb": notebook("s001"),
        "Yamada Hanako_101_assignsubmission_file_/mnist_tasks/preprocessing.py": b"# s001 preprocessing\n",
        "Yamada Hanako_101_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>",
        "Suzuki Taro_102_assignsubmission_file_/ps1.zip": nested.getvalue(),
        "Stranger Someone_103_assignsubmission_file_/ps1_preprocessing.ipynb": notebook("stranger"),
        "Nobody Known_104_assignsubmission_file_/ps1_preprocessing.ipynb": notebook("nobody"),
        "Kato Yuki_105_assignsubmission_file_/ps1_preprocessing.ipynb": b'{"cells": [',
        "Kato Yuki_105_assignsubmission_file_/mnist_tasks/models.py": b"# s005\n",
        "Ito Mai_106_assignsubmission_file_/ps1_preprocessing.ipynb": notebook("s006 new"),
    })
    damaged = archive / "MNIST-ps1-42-group2.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("Mori Aya_108_assignsubmission_file_/ps1_preprocessing.ipynb", notebook("s008"))
        zf.writestr("Mori Aya_108_assignsubmission_file_/mnist_tasks/models.py", b"# s008 models, damaged\n")
    damage_member(damaged, "Mori Aya_108_assignsubmission_file_/mnist_tasks/models.py")
    write_zip(archive / "MNIST-ps1-42-flat.zip", {  # "Download submissions in folders" turned off
        "Ogawa Kenji_107_assignsubmission_file_ps1_preprocessing.ipynb": notebook("s007"),
        "Ogawa Kenji_107_assignsubmission_file_preprocessing.py": b"# s007 preprocessing\n",
    })
    (archive / "broken.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    write_csv(course / "downloaded" / "ps1" / "roster.csv", MOODLE_WORKSHEET)
    return archive


def test_moodle_zip_collect_imports_each_student_it_can_and_names_each_problem(course):
    moodle_download(course)
    old = submitted(course, "s006")
    old.mkdir(parents=True)
    (old / "ps1_preprocessing.ipynb").write_bytes(notebook("s006 collected before"))

    # The command line, as in docs/lms.md; the other tests run the same app in-process.
    result = run_nbgrader_command(course, "zip_collect", "ps1", EXTRACTOR, MOODLE)
    log = result.log
    assert result.returncode == 0, log

    # Folder per student; the notebook and the task module each land where the release has them.
    assert (submitted(course, "s001") / "ps1_preprocessing.ipynb").read_bytes() == notebook("s001")
    assert (submitted(course, "s001") / "mnist_tasks" / "preprocessing.py").read_text() == "# s001 preprocessing\n"
    assert not (submitted(course, "s001") / "onlinetext.html").exists()
    # A zip the student uploaded, with an extra top folder and macOS junk.
    assert (submitted(course, "s002") / "ps1_preprocessing.ipynb").read_bytes() == notebook("s002")
    assert (submitted(course, "s002") / "mnist_tasks" / "models.py").read_text() == "# s002 models\n"
    assert sorted(p.name for p in submitted(course, "s002").rglob("*") if p.is_file()) == [
        "models.py", "ps1_preprocessing.ipynb"]
    # Flat download: "preprocessing.py" goes to mnist_tasks/preprocessing.py as released.
    assert (submitted(course, "s007") / "mnist_tasks" / "preprocessing.py").read_text() == "# s007 preprocessing\n"
    assert (submitted(course, "s007") / "ps1_preprocessing.ipynb").read_bytes() == notebook("s007")

    # Submission times from the worksheet, Asia/Tokyo, written by nbgrader in UTC.
    assert (submitted(course, "s001") / "timestamp.txt").read_text() == "2024-05-01 08:05:00"
    assert (submitted(course, "s007") / "timestamp.txt").read_text() == "2024-05-02 00:30:00"
    assert not (submitted(course, "s002") / "timestamp.txt").exists()  # "-": never modified

    # Nothing already collected is overwritten.
    assert (old / "ps1_preprocessing.ipynb").read_bytes() == notebook("s006 collected before")
    assert "student s006 is already collected" in log and "学生 s006 は回収済み" in log

    # Each problem is named, in Japanese and English, and its student is left out whole.
    collected = sorted(p.name for p in (course / "submitted").iterdir())
    assert collected == ["s001", "s002", "s006", "s007"]
    assert "broken.zip" in log and "cannot open the zip file" in log and "zip ファイルを開けません" in log
    assert "Stranger Someone_103_assignsubmission_file_" in log
    assert "LMS id 103 is not in the roster" in log and "学生が分からない" in log
    assert "LMS id 104 (Email address=nobody@elsewhere.example) match no e-mail" in log
    assert "Kato Yuki_105_assignsubmission_file_/ps1_preprocessing.ipynb" in log
    assert "not a notebook (invalid JSON)" in log and "ノートブック (JSON) として読めません" in log
    assert "Mori Aya_108_assignsubmission_file_/mnist_tasks/models.py" in log
    assert "its data is damaged" in log and "データが壊れています" in log
    assert "student s008's submission is not imported" in log


def test_moodle_newer_attempt_replaces_only_with_force(course):
    archive = moodle_download(course)
    for extra in ("broken.zip", "MNIST-ps1-42-group2.zip", "MNIST-ps1-42-flat.zip"):
        (archive / extra).unlink()
    first = run_nbgrader(course, "zip_collect", "ps1", EXTRACTOR, MOODLE)
    assert first.returncode == 0, first.log
    assert (submitted(course, "s001") / "ps1_preprocessing.ipynb").read_bytes() == notebook("s001")

    # Hanako submits again after the first collection; Moodle's download has only the newest.
    (archive / "MNIST-ps1-42.zip").unlink()
    write_zip(archive / "MNIST-ps1-42-again.zip", {
        "Yamada Hanako_101_assignsubmission_file_/ps1_preprocessing.ipynb": notebook("s001 attempt 2"),
        "Suzuki Taro_102_assignsubmission_file_/ps1_preprocessing.ipynb": notebook("s002 attempt 2"),
    })
    sheet = [row[:] for row in MOODLE_WORKSHEET]
    sheet[1][7] = "Thursday, 2 May 2024, 10:00 AM"
    write_csv(course / "downloaded" / "ps1" / "roster.csv", sheet)

    # nbgrader itself asks for --force to extract a second download over the first.
    forced = run_nbgrader(course, "zip_collect", "--force", "ps1", EXTRACTOR, MOODLE)
    log = forced.log
    assert forced.returncode == 0, log
    # Newer by Moodle's clock: replaced, with the new time for nbgrader's late check.
    assert (submitted(course, "s001") / "ps1_preprocessing.ipynb").read_bytes() == notebook("s001 attempt 2")
    assert (submitted(course, "s001") / "timestamp.txt").read_text() == "2024-05-02 01:00:00"
    assert "the newer submission" in log
    # No time to compare: what was collected stays, even under --force.
    assert (submitted(course, "s002") / "ps1_preprocessing.ipynb").read_bytes() == notebook("s002")
    assert "student s002 is already collected" in log


@pytest.mark.parametrize("problem", ["no roster", "no students"])
def test_zip_collect_refuses_to_guess_without_roster_or_student_list(course, problem):
    moodle_download(course)
    if problem == "no roster":
        (course / "downloaded" / "ps1" / "roster.csv").unlink()
        expected = ["cannot read the roster CSV", "名簿 CSV を読めません", "roster.csv"]
    else:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
            for sid, *_ in STUDENTS:
                gb.remove_student(sid)
        expected = ["nbgrader's student list is empty", "nbgrader db student import"]
    result = run_nbgrader(course, "zip_collect", "ps1", EXTRACTOR, MOODLE)
    log = result.log
    assert result.returncode == 1, log
    for text in expected:
        assert text in log
    assert not (course / "submitted").exists()


# --- Canvas ---------------------------------------------------------------------------------

CANVAS_EXPORT = [  # Canvas's gradebook export (Grades → Export), used as the roster
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ps1 (4242)", "ps2 (5151)", "Current Score"],
    ["    Points Possible", "", "", "", "", "10.00", "20.00", "(read only)"],
    ["Yamada, Hanako", "201", "s001", "hanako", "MNIST 2024", "", "", ""],
    ["Suzuki, Taro", "202", "s002", "taro", "MNIST 2024", "", "8.50", ""],
    ["Sato, Jiro", "203", "", "jiro.sato@uni.example", "MNIST 2024", "7.00", "", ""],
]


def test_canvas_zip_collect(course):
    archive = course / "downloaded" / "ps1" / "archive"
    write_zip(archive / "mnist-ps1_submissions.zip", {
        "yamadahanako_201_9001_ps1_preprocessing.ipynb": notebook("s001"),
        "yamadahanako_201_9002_preprocessing.py": b"# s001 canvas\n",
        # Late, and uploaded twice: Canvas renamed the second upload "-1"; its id is larger.
        "suzukitaro_LATE_202_9003_ps1_preprocessing.ipynb": notebook("s002 first"),
        "suzukitaro_LATE_202_9010_ps1_preprocessing-1.ipynb": notebook("s002 second"),
        "satojiro_203_9005_ps1_preprocessing.ipynb": notebook("s003"),
        "satojiro_203_text.html": b"<p>online text entry</p>",
        "anon_Ab3dE_9006_ps1_preprocessing.ipynb": notebook("anonymous"),
        "tanakaichiro_299_9007_ps1_preprocessing.ipynb": notebook("unknown"),
    })
    write_csv(course / "downloaded" / "ps1" / "roster.csv", CANVAS_EXPORT)

    result = run_nbgrader(course, "zip_collect", "ps1", EXTRACTOR, CANVAS)
    log = result.log
    assert result.returncode == 0, log
    assert (submitted(course, "s001") / "ps1_preprocessing.ipynb").read_bytes() == notebook("s001")
    assert (submitted(course, "s001") / "mnist_tasks" / "preprocessing.py").read_text() == "# s001 canvas\n"
    assert (submitted(course, "s002") / "ps1_preprocessing.ipynb").read_bytes() == notebook("s002 second")
    assert not (submitted(course, "s002") / "ps1_preprocessing-1.ipynb").exists()
    # Matched by SIS Login ID = nbgrader's e-mail, whatever the case.
    assert (submitted(course, "s003") / "ps1_preprocessing.ipynb").read_bytes() == notebook("s003")
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["s001", "s002", "s003"]
    # Canvas gives no submission time: no timestamp, and the LATE mark is reported instead.
    assert not (submitted(course, "s002") / "timestamp.txt").exists()
    assert "Canvas marks student s002's submission LATE" in log and "遅延 (LATE)" in log
    assert "importing the newer" in log and "suzukitaro_LATE_202_9010_ps1_preprocessing-1.ipynb" in log
    assert "anon_Ab3dE_9006_ps1_preprocessing.ipynb" in log and "anonymously graded" in log
    assert "tanakaichiro_299_9007_ps1_preprocessing.ipynb" in log and "LMS id 299 is not in the roster" in log


# --- names and times, without nbgrader --------------------------------------------------------

@pytest.mark.parametrize("component, expected", [
    ("yamadahanako_201_9001_ps1_preprocessing.ipynb", ("201", "ps1_preprocessing.ipynb", False, 9001)),
    ("suzukitaro_LATE_202_9003_hw_1.ipynb", ("202", "hw_1.ipynb", True, 9003)),
    ("suzukitaro_late_202_9003_hw.ipynb", ("202", "hw.ipynb", True, 9003)),
    ("o_brienpat_77_5_notes_2_3.py", ("77", "notes_2_3.py", False, 5)),
    ("satojiro_203_text.html", None),
])
def test_canvas_names(component, expected):
    name = CanvasCollector().parse_name(component)
    got = None if name is None else (name.lms_id, name.filename, name.late, name.order)
    assert got == expected


@pytest.mark.parametrize("component, expected", [
    ("Yamada Hanako_101_assignsubmission_file_ps1_preprocessing.ipynb", ("101", "ps1_preprocessing.ipynb")),
    ("Yamada Hanako_101_assignsubmission_file_", ("101", "")),
    ("Participant_5000123_assignsubmission_file_", ("5000123", "")),
    ("Team 1-Yamada Hanako_3_assignsubmission_file_a_4_b.py", ("3", "a_4_b.py")),
    ("Yamada Hanako_101_assignsubmission_onlinetext_", None),
    ("MNIST-ps1-42", None),
])
def test_moodle_names(component, expected):
    name = MoodleCollector().parse_name(component)
    assert (None if name is None else (name.lms_id, name.filename)) == expected


def test_moodle_times():
    tokyo = ZoneInfo("Asia/Tokyo")
    assert parse_moodle_time("Wednesday, 1 May 2024, 12:05 AM", tokyo) == datetime(2024, 5, 1, 0, 5, tzinfo=tokyo)
    assert parse_moodle_time("Wednesday, 1 May 2024, 12:05 PM", tokyo) == datetime(2024, 5, 1, 12, 5, tzinfo=tokyo)
    assert parse_moodle_time("2024年 05月 01日(水曜日) 17:05", tokyo).astimezone(timezone.utc) == \
        datetime(2024, 5, 1, 8, 5, tzinfo=timezone.utc)
    assert parse_moodle_time("-", tokyo) is None
    with pytest.raises(ValueError):
        parse_moodle_time("sometime in May", tokyo)


def test_release_placement():
    released = {"ps1_preprocessing.ipynb", "mnist_tasks/models.py", "mnist_tasks/preprocessing.py"}
    place = LMSCollector._place
    assert place("models.py", released) == ("mnist_tasks/models.py", False)
    assert place("ps1/mnist_tasks/models.py", released) == ("mnist_tasks/models.py", False)
    assert place("mnist_tasks/models.py", released) == ("mnist_tasks/models.py", True)
    assert place("other/models.py", released) == ("other/models.py", False)  # a different folder
    assert place("notes.txt", released) == ("notes.txt", False)
    assert CanvasCollector().normalise_filename("ps1_preprocessing-2.ipynb", released) == "ps1_preprocessing.ipynb"
    assert CanvasCollector().normalise_filename("data-1.py", released) == "data-1.py"


def test_points_are_written_exactly():
    assert format_points(10.0) == "10"
    assert format_points(3.75) == "3.75"
    assert float(format_points(0.1 + 0.2)) == 0.1 + 0.2  # no rounding to 0.3
    assert format_points(0.0) == "0"


def test_student_list_matches_email_before_id(tmp_path, empty_gradebook):
    shutil.copy(empty_gradebook, tmp_path / "gb.db")
    with Gradebook(f"sqlite:///{tmp_path / 'gb.db'}", COURSE_ID) as gb:
        gb.add_student("x@uni.example", email="someone@uni.example")
        gb.add_student("s9", email="X@uni.example")
    students = StudentList.from_gradebook(f"sqlite:///{tmp_path / 'gb.db'}", COURSE_ID)
    assert students.match("x@UNI.example") == "s9"
    assert students.match("s9") == "s9"
    assert students.match("unknown") is None


# --- export ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def graded_template(tmp_path_factory, empty_gradebook) -> tuple[Path, dict[tuple[str, str], float]]:
    """A course whose gradebook holds real scores, and what nbgrader's own CSV exporter says of them.

    Partial points, a float sum (0.1 + 0.2), a late penalty, a zero and a non-submission.
    """
    course = tmp_path_factory.mktemp("graded") / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\n")
    shutil.copy(empty_gradebook, course / "gradebook.db")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        for sid, first, last, email in STUDENTS:
            gb.add_student(sid, first_name=first, last_name=last, email=email)
        for name, cells in (("ps1", [("normalize", 2.5), ("one_hot", 7.5)]), ("ps2", [("mlp", 0.3), ("cnn", 19.7)])):
            gb.add_assignment(name, duedate=datetime(2024, 5, 1, 8, 0))
            gb.add_notebook(name, name)
            for cell, points in cells:
                gb.add_grade_cell(cell, name, name, max_score=points, cell_type="code")
        scores = {
            ("ps1", "s001"): {"normalize": 2.5, "one_hot": 1.25},   # 3.75
            ("ps2", "s001"): {"mlp": 0.1, "cnn": 0.2},              # 0.30000000000000004
            ("ps1", "s002"): {"normalize": 2.5, "one_hot": 7.5},    # 10, minus a late penalty of 1
            ("ps1", "s003"): {"normalize": 0.0, "one_hot": 0.0},    # 0, submitted
        }
        for (assignment, student), cells in scores.items():
            gb.add_submission(assignment, student, timestamp="2024-05-01 07:00:00")
            for cell, points in cells.items():
                gb.find_grade(cell, assignment, assignment, student).auto_score = points
        gb.find_submission_notebook("ps1", "ps1", "s002").late_submission_penalty = 1.0
        gb.db.commit()
    result = run_nbgrader(course, "export", "--to", "nbgrader.csv")
    assert result.returncode == 0, result.log
    with open(course / "nbgrader.csv", newline="") as f:
        expected = {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(f)
                    if r["timestamp"]}
    assert expected[("s001", "ps2")] == 0.1 + 0.2 and expected[("s002", "ps1")] == 9.0
    return course, expected


@pytest.fixture
def graded(graded_template, tmp_path) -> tuple[Path, dict[tuple[str, str], float]]:
    template, expected = graded_template
    course = tmp_path / "graded"
    shutil.copytree(template, course)
    return course, expected


def test_moodle_export_is_moodles_grade_import(graded):
    graded, expected = graded
    result = run_nbgrader(graded, "export", "--exporter=mnist_course.lms.moodle.MoodleExporter", "--to", "moodle.csv")
    assert result.returncode == 0, result.log
    text = (graded / "moodle.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "First name,Last name,ID number,Email address,ps1,ps2"
    # As Moodle's CSV import reads it: map from "Email address" to the user's e-mail; each
    # other column is a grade item; "" means no grade; values are decimal numbers.
    rows = list(csv.DictReader(io.StringIO(text)))
    by_email = {row["Email address"]: row for row in rows}
    assert set(by_email) == {email for *_, email in STUDENTS}
    emails = {sid: email for sid, *_, email in STUDENTS}
    for (student, assignment), score in expected.items():
        assert float(by_email[emails[student]][assignment]) == score
    assert by_email["hanako@uni.example"]["ps1"] == "3.75"
    assert by_email["hanako@uni.example"]["ps2"] == "0.30000000000000004"
    assert by_email["taro@uni.example"]["ps1"] == "9"
    assert by_email["Jiro.Sato@uni.example"]["ps1"] == "0"
    assert by_email["Jiro.Sato@uni.example"]["ps2"] == ""  # not submitted: no grade
    assert by_email["hanako@uni.example"]["ID number"] == "s001"


def read_canvas_import(text: str) -> tuple[dict[str, str], dict[str, dict[str, str]], list[str]]:
    """Read a CSV the way Canvas's gradebook importer does (lib/gradebook_importer.rb).

    Returns the points-possible row by heading, the student rows by heading, and the header.
    """
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert "Student" in header[0] and "ID" in header[1]
    assert header[2] == "SIS User ID" and header[3] == "SIS Login ID" and "Section" in header[4]
    points, students = {}, []
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            points = dict(zip(header, row))
        else:
            students.append(dict(zip(header, row)))
    return points, {r["SIS User ID"] or r["ID"]: r for r in students}, header


def test_canvas_export_without_roster(graded):
    graded, expected = graded
    result = run_nbgrader(graded, "export", "--exporter=mnist_course.lms.canvas.CanvasExporter", "--to", "canvas.csv",
                          "--CanvasExporter.assignment_ids", "ps2=5151")
    assert result.returncode == 0, result.log
    text = (graded / "canvas.csv").read_text(encoding="utf-8")
    assert text.splitlines()[:2] == ["Student,ID,SIS User ID,SIS Login ID,Section,ps1,ps2 (5151)",
                                     "    Points Possible,,,,,10,20"]
    points, rows, _ = read_canvas_import(text)
    assert points["ps1"] == "10" and points["ps2 (5151)"] == "20"
    for (student, assignment), score in expected.items():
        heading = "ps2 (5151)" if assignment == "ps2" else assignment
        assert float(rows[student][heading]) == score
    assert rows["s001"]["Student"] == "Yamada, Hanako" and rows["s001"]["SIS Login ID"] == "hanako@uni.example"
    assert rows["s002"]["ps1"] == "9" and rows["s003"]["ps2 (5151)"] == ""


def test_canvas_export_with_roster_keeps_canvas_ids(graded):
    graded, _ = graded
    write_csv(graded / "canvas_export.csv", CANVAS_EXPORT)
    result = run_nbgrader(graded, "export", "--exporter=mnist_course.lms.canvas.CanvasExporter", "--to", "canvas.csv",
                          "--CanvasExporter.roster=canvas_export.csv")
    log = result.log
    assert result.returncode == 0, log
    text = (graded / "canvas.csv").read_text(encoding="utf-8")
    assert text.splitlines()[:2] == ["Student,ID,SIS User ID,SIS Login ID,Section,ps1 (4242),ps2 (5151)",
                                     "    Points Possible,,,,,10,20"]
    points, rows, header = read_canvas_import(text)
    assert set(rows) == {"s001", "s002", "203"}  # exactly Canvas's students that nbgrader knows
    assert rows["s001"]["ID"] == "201" and rows["s001"]["Section"] == "MNIST 2024"
    assert rows["s001"]["ps1 (4242)"] == "3.75" and rows["s001"]["ps2 (5151)"] == "0.30000000000000004"
    assert rows["s002"]["ps1 (4242)"] == "9"
    # Sato has no SIS User ID in Canvas; found by his login = nbgrader e-mail. nbgrader's 0 wins
    # over Canvas's 7 for what he submitted.
    assert rows["203"]["ps1 (4242)"] == "0"
    # Not submitted in nbgrader: Canvas's current grade is repeated, so the import changes nothing.
    assert rows["s002"]["ps2 (5151)"] == "8.50" and rows["203"]["ps2 (5151)"] == ""
    assert "student s005 is not in the Canvas roster" in log
