#!/usr/bin/env python
from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaultsite.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 (loads vaultsite/settings.py now, not inside a command)
    except ImproperlyConfigured as exc:
        # A missing or bad setting: one line naming it, not a traceback.
        sys.exit(str(exc))
    execute_from_command_line(sys.argv)
