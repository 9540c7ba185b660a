"""The one error type users see: a single line with what to do, not a traceback."""


class ModeldeckError(Exception):
    def _render_traceback_(self):
        # IPython prints these lines instead of a traceback.
        return ["modeldeck: %s" % self]
