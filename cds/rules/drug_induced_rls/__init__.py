"""drug-induced-rls: drugs that trigger or worsen restless legs or akathisia (§7)."""
