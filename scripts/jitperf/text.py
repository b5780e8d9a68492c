"""How jitperf-run writes paths and commands for the user to copy: relative below the current directory, quoted only when a shell needs it."""
import os
import re
import sys

_PLAIN = re.compile(r'[A-Za-z0-9_./:=,+@%^-]+')


def shquote(word):
    if _PLAIN.fullmatch(word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def shquote_all(words):
    return ' '.join(shquote(w) for w in words)


def display_path(path):
    """A path as the user would type it from here."""
    here = os.getcwd()
    if path.startswith(here + '/'):
        return path[len(here) + 1:]
    return path


class Say:
    """jitperf-run's messages on stderr, each prefixed with its name."""

    def __init__(self, prog, quiet=False, verbose=False):
        self.prog = prog
        self.quiet = quiet
        self.verbose = verbose

    def always(self, text):
        sys.stderr.write('%s: %s\n' % (self.prog, text))

    def say(self, text):
        if not self.quiet:
            self.always(text)

    def info(self, text):
        if self.verbose:
            self.always(text)

    def warn(self, text):
        self.always('warning: ' + text)
