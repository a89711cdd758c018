"""API shapes of the token endpoint (RFC 6749 section 5.1)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TokenRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9...",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "scope": "audit:read persons:read",
                }
            ]
        }
    )

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str
