"""Static files as production serves them: hashed, compressed names from whitenoise's manifest."""

import os

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """The manifest storage, also answering for folders.

    jazzmin's admin/base.html asks `{% static 'vendor/bootswatch' %}` (a folder, the base its theme switcher
    builds URLs on; jazzmin issue #684). The manifest lists files only, so the strict storage raises and every
    admin page answers 500. A folder has no content to hash: its URL is its plain name, and whitenoise serves
    the unhashed copies of the files below it. Every file keeps its hashed name.
    """

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:
            if os.path.isdir(self.path(name)):
                return name
            raise
