"""Bad days of the demo world: weak answers (evasive, refusing, in the wrong language, or
JSON cut short), and the documents users paste while ``doc-summarizer``'s inputs drift
(long legal contracts instead of business reports).

A weak answer is what the judge should catch: the built-in ``refusal``,
``language_mismatch`` and ``invalid_json`` evaluators flag the refusing, Spanish and
cut-JSON ones; the demo's stand-in LLM judge (``vigil.demo.judge``) scores every kind low.
"""

from __future__ import annotations

import json
import random

from vigil.demo.catalog import TemplateSpec

_EVASIVE = (
    "I'm not sure about that. Please check the help center for more information.",
    "That depends on many factors. You may want to look at the documentation.",
    "I don't have enough information to answer that. Could you try again later?",
    "Thanks for reaching out! Our team is always happy to help with questions like this.",
)
_REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "I cannot provide that information.",
    "I'm unable to assist with this. Please contact a human agent.",
)
_SPANISH = (
    "Lo siento, no tengo información sobre su pedido. Por favor, consulte el centro de "
    "ayuda o vuelva a intentarlo más tarde.",
    "Gracias por su mensaje. Su solicitud está en proceso y le responderemos lo antes "
    "posible por correo electrónico.",
    "Para cambiar la configuración de su cuenta, abra el menú y seleccione la opción que "
    "más le convenga para su caso.",
)
# Baseline weak answers are mostly evasive; in a quality incident refusals and Spanish
# answers (a fine-tune that lost its instructions) are as common.
_MIX_NORMAL = (("evasive", 0.7), ("refusal", 0.15), ("spanish", 0.15))
_MIX_INCIDENT = (("evasive", 0.3), ("refusal", 0.35), ("spanish", 0.35))

_CONTRACT_SENTENCES = (
    "This Master Services Agreement is entered into by and between the Licensor and the "
    "Licensee as of the Effective Date.",
    "The Licensee shall indemnify, defend and hold harmless the Licensor against any and all "
    "claims arising out of the use of the Software.",
    "Either party may terminate this Agreement upon thirty days' written notice in the event "
    "of a material breach that remains uncured.",
    "All intellectual property rights in the deliverables shall vest exclusively in the "
    "Licensor notwithstanding any provision to the contrary.",
    "The limitation of liability set forth herein shall not apply to gross negligence, "
    "wilful misconduct or breach of confidentiality obligations.",
    "This Agreement shall be governed by and construed in accordance with the laws of the "
    "State of Delaware, without regard to its conflict of laws principles.",
    "Any dispute shall be finally settled by binding arbitration under the rules of the "
    "International Chamber of Commerce.",
    "The Licensor warrants that the Software will perform substantially in accordance with "
    "the Documentation for a period of ninety days.",
    "Neither party shall assign or otherwise transfer its rights or obligations hereunder "
    "without the prior written consent of the other party.",
    "Fees are exclusive of all applicable taxes, duties and levies, which shall be borne by "
    "the Licensee.",
    "Confidential Information shall not include information that is or becomes publicly "
    "available through no fault of the receiving party.",
    "The provisions of Sections 7, 9 and 12 shall survive any expiration or termination of "
    "this Agreement.",
    "Force majeure events shall include acts of God, war, terrorism, pandemics and "
    "governmental orders beyond the reasonable control of the affected party.",
    "The Licensee shall maintain complete and accurate records of its use of the Software "
    "and make them available for audit upon request.",
)


def weak_answer(rng: random.Random, template: TemplateSpec, incident: bool) -> str:
    """A weak answer: evasive, a refusal, Spanish to an English question, or cut JSON."""
    if template.response_format == "json_object":
        whole = json.dumps({"summary": "The document covers", "key_points": ["Revenue"]})
        return whole[: rng.randint(12, len(whole) - 2)]  # cut short: not valid JSON
    mix = _MIX_INCIDENT if incident else _MIX_NORMAL
    kind = rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]
    pool = {"evasive": _EVASIVE, "refusal": _REFUSALS, "spanish": _SPANISH}[kind]
    return rng.choice(pool)


def drifted_document(rng: random.Random) -> str:
    """A long legal contract excerpt: what users paste while the inputs drift."""
    picks = sorted(rng.sample(range(len(_CONTRACT_SENTENCES)), rng.randint(9, 14)))
    return " ".join(_CONTRACT_SENTENCES[i] for i in picks)
