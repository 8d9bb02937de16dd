"""other-leg-pain-conditions: documented alternative explanations of leg pain (§17)."""
