"""The class list of a campaign and the conversion of user labels to it."""

import difflib
import numbers
from urllib.parse import unquote

import numpy as np


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


class ClassList:
    """Class labels of a campaign: all integers or all non-empty strings.

    Labels are stored as text (``str(int)`` for integer classes), so that the
    store needs no type per label; :meth:`value` converts back.

    Parameters
    ----------
    classes : sequence of int or str
        The classes, in output-unit order; at least two, no repeats.
    """

    def __init__(self, classes):
        if isinstance(classes, (str, bytes)) or not hasattr(classes, "__iter__"):
            raise ValueError(
                f"classes must be a list of at least two class names; got {classes!r}."
            )
        values = [v.item() if isinstance(v, np.generic) else v for v in classes]
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
            self.kind = "int"
            values = [int(v) for v in values]
        elif all(isinstance(v, str) and v.strip() == v and v for v in values):
            self.kind = "str"
        else:
            raise ValueError(
                "classes must be all integers or all non-empty strings without leading or "
                f"trailing spaces; got {values!r}."
            )
        if len(values) < 2:
            raise ValueError(f"a campaign needs at least two classes; got {values!r}.")
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"classes must not repeat; {repeated} appear more than once.")
        self.values = values
        self.texts = [str(v) for v in values]
        self._by_text = dict(zip(self.texts, values))

    @classmethod
    def from_texts(cls, texts, kind):
        """Rebuild from stored texts and kind (``"int"`` or ``"str"``)."""
        return cls([int(t) for t in texts] if kind == "int" else list(texts))

    def __len__(self):
        return len(self.values)

    def value(self, text):
        """Return the class value of a stored text."""
        return self._by_text[text]

    def to_text(self, label, *, where=""):
        """Return the stored text of a user label, or raise naming the valid classes.

        Accepts the class itself, an integer class given as text (``"3"``, as
        read from a CSV) or an integral float (``3.0``), and a percent-encoded
        string class (as :func:`skcryoal.io.write_subtomograms` writes them).
        """
        if isinstance(label, np.generic):
            label = label.item()
        text = None
        if isinstance(label, bool):
            text = None
        elif isinstance(label, numbers.Integral):
            text = str(int(label))
        elif isinstance(label, float) and label.is_integer():
            text = str(int(label))
        elif isinstance(label, str):
            text = label.strip()
            if text not in self._by_text and unquote(text) in self._by_text:
                text = unquote(text)
            if self.kind == "int" and text.lstrip("+-").isdigit():
                text = str(int(text))
        if text not in self._by_text:
            raise ValueError(self._unknown(label, where))
        return text

    def _unknown(self, label, where):
        close = difflib.get_close_matches(str(label), self.texts, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        shown = ", ".join(repr(v) for v in self.values[:30])
        more = " ..." if len(self.values) > 30 else ""
        return (
            f"unknown class {label!r}{where}{hint} The campaign's classes are "
            f"[{shown}{more}]; label with one of them (adding classes needs a new campaign)."
        )

    def texts_of(self, labels, n, *, what="labels", ids=None):
        """Convert ``labels`` (one label, or one per id) to ``n`` stored texts.

        Every label is checked before anything is returned; the error names
        each unknown label once, and the particles (``ids``) given no label
        (None or NaN).
        """
        if labels is None or isinstance(labels, (str, bytes, numbers.Number, np.generic)):
            labels = [labels] * n
        else:
            labels = list(labels)
            if len(labels) != n:
                raise ValueError(
                    f"{what}: got {len(labels)} labels for {n} particle ids; pass one label "
                    "for all, or one per id."
                )
        missing = [k for k, label in enumerate(labels) if _is_missing(label)]
        if missing:
            where = [int(ids[k]) if ids is not None else k for k in missing]
            shown = ", ".join(str(i) for i in where[:10]) + (" ..." if len(where) > 10 else "")
            got = "None" if labels[missing[0]] is None else "NaN"
            raise ValueError(
                f"{what}: got no label ({got}) for particle(s) {shown}; a label must be one "
                f"of the campaign's classes {self.values[:30]}. To skip a particle (it cannot "
                "be labeled) use campaign.skip(ids); to withdraw a label use campaign.undo(). "
                "Nothing was recorded."
            )
        texts, unknown = [], []
        for label in labels:
            try:
                texts.append(self.to_text(label))
            except ValueError:
                if label not in unknown:
                    unknown.append(label)
        if unknown:
            if len(unknown) == 1:
                raise ValueError(self._unknown(unknown[0], ""))
            raise ValueError(
                f"unknown classes {unknown[:10]}; the campaign's classes are {self.values}. "
                "Nothing was recorded."
            )
        return texts


def _is_missing(label):
    """Whether a label is None or a float NaN (no label, not a class)."""
    if label is None:
        return True
    return isinstance(label, (float, np.floating)) and bool(np.isnan(label))


def seed_texts(classes, y, n, *, source):
    """Validate seed labels (None / NaN / "" for unlabeled) and return ``{row: text}``."""
    y = list(y)
    if len(y) != n:
        raise ValueError(
            f"y must have one entry per particle ({n}), None for unlabeled ones; got {len(y)}."
        )
    seeds, unknown = {}, {}
    for row, label in enumerate(y):
        if _is_missing(label):
            continue
        try:
            seeds[row] = classes.to_text(label)
        except ValueError:
            unknown.setdefault(str(label), row)
    if unknown:
        shown = ", ".join(f"{k!r} (row {v})" for k, v in list(unknown.items())[:10])
        raise ValueError(
            f"{source} holds labels that are not campaign classes: {shown}. The classes are "
            f"{classes.values}; add them to classes or fix the labels. Nothing was created."
        )
    return seeds
