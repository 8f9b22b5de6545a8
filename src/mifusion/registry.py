"""A tiny name -> object registry shared by models, estimators, encoders and presets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from mifusion.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to registered objects.

    Example:
        >>> fruits: Registry[int] = Registry("fruit")
        >>> @fruits.register("apple")
        ... def _apple() -> int:
        ...     return 1
        >>> fruits.names()
        ('apple',)
        >>> fruits.get("apple")()
        1
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers ``obj`` under ``name`` (names are unique)."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        """Registers ``obj`` under ``name``."""
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = obj

    def get(self, name: str) -> T:
        """Returns the object registered as ``name`` or raises a ConfigError listing the choices."""
        try:
            return self._items[name]
        except KeyError:
            choices = ", ".join(self.names()) or "none registered"
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of: {choices}") from None

    def names(self) -> tuple[str, ...]:
        """Registered names in registration order."""
        return tuple(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
