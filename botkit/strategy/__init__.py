"""The strategy API's own parts (typed parameters; the layout move brings context, hooks and plugins here)."""
