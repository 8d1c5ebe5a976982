"""Static files storage for DEBUG off: hashed names and compressed copies (WhiteNoise)."""

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's manifest storage, not following `sourceMappingURL` comments.

    The vendored Monaco files end in such comments while their source maps are deliberately not
    shipped (static/vendor/README.md); followed, they fail collectstatic with MissingFileError.
    CSS `url()` and `@import` references are still rewritten to hashed names.
    """

    patterns = tuple(
        (glob, tuple(p for p in rules if "sourceMappingURL" not in str(p)))
        for glob, rules in HashedFilesMixin.patterns
    )
