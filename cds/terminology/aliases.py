"""Text names for medication matching that are not an ingredient's own name (§1.2 step 3).

Step 3 of medication matching reads `CodeableConcept.text` and `coding.display` when no code
matched. It finds the verified ingredient names (the codes.tsv displays) as whole words. Real
records also name a drug by a misspelling or a brand, so this table maps those words to the
ingredient name they mean. It is a closed, reviewed list, not fuzzy matching: a word that is
not here or in codes.tsv is not a drug this service knows.

Each target must be the lowercase display of a verified ingredient in codes.tsv
(tests/test_terminology.py checks this). Every match this table makes is flagged low
confidence, like any text match.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MEDICATION_TEXT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        # Misspellings seen in Synthea (shared/external/synthea/code-inventory.json).
        "simvistatin": "simvastatin",  # "Simvistatin 10 MG", RxNorm 316672 (26 of 90 patients)
        # Brand names seen in Synthea.
        "lasix": "furosemide",  # "Lasix 40mg", RxNorm 315971
        # Combined hormonal contraceptives seen in Synthea, by their estrogen (§10: filter
        # contraceptives to estrogen-containing). The progestin-only packs in the same data
        # (Jolivette, Camila, Errin; Mirena/Kyleena/Liletta IUDs; etonogestrel implant) are
        # left out on purpose. So are Norinyl 1+50 and Enovid: their estrogen, mestranol, has no
        # verified RxCUI.
        "trinessa": "ethinyl estradiol",  # norgestimate / ethinyl estradiol
        "ortho tri-cyclen": "ethinyl estradiol",  # norgestimate / ethinyl estradiol
        "nuvaring": "ethinyl estradiol",  # etonogestrel / ethinyl estradiol vaginal ring
        "yaz": "ethinyl estradiol",  # drospirenone / ethinyl estradiol
        "seasonique": "ethinyl estradiol",  # levonorgestrel / ethinyl estradiol
        "levora": "ethinyl estradiol",  # levonorgestrel / ethinyl estradiol
        "estrostep": "ethinyl estradiol",  # "Estrostep Fe": norethindrone / ethinyl estradiol
        "natazia": "estradiol",  # estradiol valerate / dienogest
        # Everyday forms of verified names whose codes.tsv display reads differently.
        "conjugated estrogens": "estrogens, conjugated (usp)",
        "dabigatran": "dabigatran etexilate",
    }
)
