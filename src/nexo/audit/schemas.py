"""API shapes of the audit trail: checkpoints, entries and proofs (hashes in hex)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CheckpointRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "origin": "nexo.audit.log",
                    "tree_size": 1024,
                    "root_hash": "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
                    "at": "2026-06-30T12:00:00Z",
                    "key_id": "ZK2cQw...",
                    "public_key": "MCowBQYDK2VwAyEA...",
                    "note": "nexo.audit.log\n1024\nXcnaeacGWamtVZy3Ad7Zoqudgjqt...\n"
                    "time 2026-06-30T12:00:00.000000Z\n\n— nexo.audit.log AbCd...\n",
                }
            ]
        }
    )

    origin: str
    tree_size: int
    root_hash: str
    at: datetime
    key_id: str
    public_key: str = Field(description="Ed25519 public key (SubjectPublicKeyInfo, base64).")
    note: str = Field(description="The checkpoint as a C2SP signed note: keep it to verify later.")


class EntryRead(BaseModel):
    index: int
    leaf_hash: str
    entry: dict[str, Any]


class InclusionRead(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    audit_path: list[str]


class ConsistencyRead(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    consistency_path: list[str]
