"""The four demo apps, one module each; ``APPS`` in the order a session draws them."""

from __future__ import annotations

from vigil.demo.apps.code_assistant import CODE_ASSISTANT
from vigil.demo.apps.doc_summarizer import DOC_SUMMARIZER
from vigil.demo.apps.sales_email_writer import SALES_EMAIL_WRITER
from vigil.demo.apps.support_bot import SUPPORT_BOT
from vigil.demo.catalog import AppSpec

APPS: tuple[AppSpec, ...] = (SUPPORT_BOT, CODE_ASSISTANT, DOC_SUMMARIZER, SALES_EMAIL_WRITER)
