"""The LMS's download unpacked: :class:`LMSExtractor`, for ``nbgrader zip_collect --extractor``.

In: the folder of files downloaded from the LMS (zips, other archives, loose files). Out: the
same tree unpacked into nbgrader's ``extracted/`` folder, with each broken archive or member
reported (JA/EN) and skipped; the paths that could not be read are left in
``LMSExtractor.damaged`` for the collector (:mod:`mnist_course.lms.collect`).
"""

from __future__ import annotations

import io
import os
import posixpath
import shutil
import zipfile

from nbgrader.plugins import ExtractorPlugin
from nbgrader.utils import unzip
from traitlets import Int

from mnist_kit.i18n import bilingual

__all__ = ["LMSExtractor"]

# Files an archive tool or an OS adds beside the student's work; never part of a submission.
_JUNK_PARTS = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's real name: zips without the UTF-8 flag hold the bytes of a local code page.

    Python decodes such names as cp437, which turns the Japanese names that Windows tools write
    (cp932) into mojibake; re-encoding as cp437 gives back the original bytes to try again.
    """
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


class LMSExtractor(ExtractorPlugin):
    """Unpack the LMS's download into ``extracted/``, one bad archive or member at a time.

    nbgrader's own extractor stops the whole run at the first archive it cannot open. Here a
    broken zip, or a member whose data fails its CRC, is reported by name (JA/EN) and skipped,
    and everything else is still unpacked. Archives inside archives (a student who uploaded
    ``ps1.zip``) are unpacked into a folder named after them, as nbgrader does.
    """

    max_member_bytes = Int(
        256 * 1024 * 1024,
        help="Members larger than this (bytes, uncompressed) are skipped: a zip bomb must not fill the disk.",
    ).tag(config=True)

    max_depth = Int(3, help="How deep archives inside archives are unpacked.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Where members that could not be read would have gone: the collector refuses those
        # students whole rather than import a submission with a file missing.
        self.damaged: list[str] = []

    def extract(self, archive_path: str, extracted_path: str) -> None:
        """Unpack every archive in ``archive_path`` and copy every other file, into ``extracted_path``."""
        if not os.listdir(archive_path):
            self.log.warning(bilingual(
                f"ダウンロードしたファイルがありません: {archive_path}",
                f"no downloaded files in: {archive_path}",
            ))
            return
        for root, _, names in os.walk(archive_path):
            target = os.path.normpath(os.path.join(extracted_path, os.path.relpath(root, archive_path)))
            os.makedirs(target, exist_ok=True)
            for name in sorted(names):
                source = os.path.join(root, name)
                stem, ext = os.path.splitext(name)
                if ext.lower() == ".zip":
                    self.log.info("Extracting from: %s", source)
                    self._unpack_zip_file(source, os.path.join(target, stem))
                elif ext in self.zip_ext:
                    self._unpack_other(source, target)
                else:
                    self.log.info("Copying from: %s", source)
                    shutil.copy(source, os.path.join(target, name))

    def _unpack_zip_file(self, path: str, dest: str) -> None:
        try:
            with zipfile.ZipFile(path) as archive:
                self._unpack(archive, path, dest, depth=0)
        except (zipfile.BadZipFile, OSError) as exc:
            self.log.error(bilingual(
                f"zip ファイルを開けません (壊れているか zip ではありません): {path} ({exc})。"
                "他のファイルは取り込みます。LMS からもう一度ダウンロードしてください。",
                f"cannot open the zip file (damaged or not a zip): {path} ({exc});"
                " the other files are still imported. Download it from the LMS again.",
            ))

    def _unpack(self, archive: zipfile.ZipFile, label: str, dest: str, depth: int) -> None:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = _member_name(info)
            where = f"{label} → {name}"
            relative = posixpath.normpath(name.replace("\\", "/"))
            if relative.startswith(("/", "../")) or relative == ".." or ":" in relative.split("/")[0]:
                self.log.error(bilingual(
                    f"zip の外を指すファイル名なので取り込みません: {where}",
                    f"skipped a member whose name points outside the archive: {where}",
                ))
                continue
            if any(part in _JUNK_PARTS for part in relative.split("/")):
                continue
            if info.file_size > self.max_member_bytes:
                self.log.error(bilingual(
                    f"大きすぎるファイルなので取り込みません ({info.file_size} バイト): {where}",
                    f"skipped a member that is too large ({info.file_size} bytes): {where}",
                ))
                continue
            target = os.path.join(dest, *relative.split("/"))
            try:
                data = archive.read(info)
            except Exception as exc:  # noqa: BLE001 - BadZipFile (CRC), zlib.error, EOFError...:
                self._unreadable(where, exc)  # one damaged member must not stop the run
                self.damaged.append(os.path.abspath(target))
                continue
            stem, ext = os.path.splitext(target)
            if ext.lower() == ".zip" and depth < self.max_depth:
                try:
                    with zipfile.ZipFile(io.BytesIO(data)) as inner:
                        self._unpack(inner, where, stem, depth + 1)
                    continue
                except zipfile.BadZipFile as exc:
                    self.log.error(bilingual(
                        f"提出物の中の zip を開けません。そのまま置きます: {where} ({exc})",
                        f"cannot open a zip inside the submission; it is kept as it is: {where} ({exc})",
                    ))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as out:
                out.write(data)

    def _unreadable(self, where: str, exc: BaseException) -> None:
        self.log.error(bilingual(
            f"zip の中のファイルが読めません (データが壊れています): {where} ({exc})。"
            "このファイルは取り込みません。",
            f"cannot read a file inside the zip (its data is damaged): {where} ({exc});"
            " this file is not imported.",
        ))

    def _unpack_other(self, path: str, target: str) -> None:
        """``.tar.gz`` and friends: nbgrader's own unpacker, but one failure is not fatal."""
        try:
            unzip(path, target, zip_ext=self.zip_ext, create_own_folder=True, tree=True)
        except Exception as exc:  # noqa: BLE001 - any unpacking error concerns this archive only
            self.log.error(bilingual(
                f"アーカイブを展開できません: {path} ({exc})。他のファイルは取り込みます。",
                f"cannot unpack the archive: {path} ({exc}); the other files are still imported.",
            ))
