"""TensorFlow's error messages, shortened for the errors the data checks
raise."""

import re

import tensorflow as tf


def tf_message(error):
    """The message of a TensorFlow error without the op and function names
    it carries (`{{function_node ...}}`, `[Op:...]`); other exceptions as
    `Type: message`.

    Args:
        error: Exception.

    Returns:
        str.
    """
    if not isinstance(error, tf.errors.OpError):
        return f"{type(error).__name__}: {error}"
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", error.message)
    return re.sub(r"\s*\[Op:[^\]]*\].*$", "", text, flags=re.S).strip()
