"""Reading length-prefixed binary structures (SSH wire format, OpenPGP packets) without ever reading past the end:
a short or malformed input raises `SignatureFormatError`, never an IndexError or a struct error."""

from __future__ import annotations


class SignatureFormatError(ValueError):
    """A signature or key that cannot be parsed; the message says what is wrong with it."""


class Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._at = 0
        self._what = what

    @property
    def done(self) -> bool:
        return self._at >= len(self._data)

    def take(self, count: int) -> bytes:
        if count < 0 or self._at + count > len(self._data):
            raise SignatureFormatError(f"{self._what} is truncated")
        chunk = self._data[self._at : self._at + count]
        self._at += count
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def rest(self) -> bytes:
        return self.take(len(self._data) - self._at)

    def string(self) -> bytes:
        """An SSH `string`: uint32 length, then that many bytes."""
        return self.take(self.uint(4))

    def text(self) -> str:
        try:
            return self.string().decode("ascii")
        except UnicodeDecodeError as error:
            raise SignatureFormatError(f"{self._what} holds a name that is not ASCII") from error

    def mpi(self) -> bytes:
        """An OpenPGP multiprecision integer: a 16-bit bit count, then its big-endian bytes."""
        bits = self.uint(2)
        return self.take((bits + 7) // 8)


def ssh_string(value: bytes) -> bytes:
    return len(value).to_bytes(4, "big") + value
