"""The bundle's data hashes are DVC's own: a Parquet file's MD5, and a folder of Parquet parts
(engine dask) hashed as DVC hashes a folder output."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from dvc_data.hashfile.hash_info import HashInfo
from dvc_data.hashfile.meta import Meta
from dvc_data.hashfile.tree import Tree

from lifecycle.packaging.lineage import dvc_md5


def dvc_folder_hash(folder: Path) -> str:
    """What DVC records in dvc.lock for `folder`, computed by DVC's own tree of file hashes."""
    tree = Tree()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.md5(file.read_bytes()).hexdigest()
        tree.add(file.relative_to(folder).parts, Meta(size=file.stat().st_size), HashInfo("md5", digest))
    tree.digest()
    return str(tree.hash_info.value)


def test_files_and_folders_hash_as_dvc_records_them(raw_tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    planes = raw_tables["planes"]
    file = tmp_path / "planes.parquet"
    planes.to_parquet(file, index=False)
    folder = tmp_path / "parts.parquet"
    folder.mkdir()
    for number in range(12):  # past 10: DVC orders parts by name, as the hash must
        planes.iloc[number::12].to_parquet(folder / f"part.{number:05d}.parquet", index=False)
    hashes = dvc_md5([file, folder])
    assert hashes[str(file)] == hashlib.md5(file.read_bytes()).hexdigest()
    assert hashes[str(folder)] == dvc_folder_hash(folder)
    assert hashes[str(folder)].endswith(".dir")
