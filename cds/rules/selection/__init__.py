"""Card-selection policies, one module per version: which of the findings a call produced are
shown as cards, and in what order. A ruleset release names the policy it runs
(`released.json`), and a released policy is frozen like a released rule version."""
