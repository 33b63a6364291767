"""Registry: named things registered once each, looked up by name."""

__all__ = ["Registry"]


class Registry:
    """Named items (model families, pipeline recipes) in registration order.

    Parameters
    ----------
    what : str
        What the items are, for messages (``"model family"``).

    Examples
    --------
    >>> colours = Registry("colour")
    >>> colours.register("red", 1)
    1
    >>> colours.get("blue")
    Traceback (most recent call last):
    ...
    ValueError: No colour 'blue' is known to dnatok; known: red.
    """

    def __init__(self, what):
        self.what = what
        self._items = {}

    def register(self, name, item):
        """Add ``item`` under ``name`` (a name is taken once); returns the item."""
        if name in self._items and self._items[name] is not item:
            raise ValueError(f"A {self.what} named {name!r} is registered already.")
        self._items[name] = item
        return item

    def get(self, name):
        """The item called ``name``; a ValueError lists the known names."""
        try:
            return self._items[name]
        except KeyError:
            raise ValueError(
                f"No {self.what} {name!r} is known to dnatok; known: {', '.join(self._items)}."
            ) from None

    def names(self):
        """The registered names, in registration order."""
        return tuple(self._items)

    def values(self):
        """The registered items, in registration order."""
        return tuple(self._items.values())
