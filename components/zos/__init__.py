"""z/OS over SSH: RACF certificates and key ring, SURROGAT and FSSEC, the AT-TLS policy,
the gateway's config, and per-user client certificates exported from RACF."""
