"""pad-rest-pain: peripheral artery disease and ischaemic rest pain (§12)."""
