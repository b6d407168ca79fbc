"""Archive: each deposited invoice's documents as Chorus Pro holds them (`telecharger/groupe`),
downloaded once into the archive folder with their SHA-256 in the warehouse; verified on
demand; what older deposits lack is the same selection, so the backfill resumes by itself."""

from tasks.archive.fetch import Archiver, FetchReport, ToArchive, lacking
from tasks.archive.stages import fetch_archives
from tasks.archive.verify import VerifyReport, verify_archive

__all__ = [
    "Archiver",
    "FetchReport",
    "ToArchive",
    "VerifyReport",
    "fetch_archives",
    "lacking",
    "verify_archive",
]
