"""The artifact store (a folder or any fsspec URL) and the uploading of the files a step
declared, for whoever runs steps (runners, function workers) and the API that serves
them. No database, no bus."""

from .store import ArtifactKeyRefused, ArtifactSettings, ArtifactStore
from .uploading import ArtifactRefused, Uploader

__all__ = [
    "ArtifactKeyRefused",
    "ArtifactRefused",
    "ArtifactSettings",
    "ArtifactStore",
    "Uploader",
]
