"""peripheral-neuropathy: undiagnosed diabetes, diabetic and alcohol-related neuropathy (§9)."""
