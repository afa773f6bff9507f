"""The one way the hub parses XML: client input, partner replies, callbacks, edXML, SOAP, XSDs (reliability.md
family 3).

The parser loads no DTD, resolves no entity, opens no network or file, never processes XInclude (lxml does so
only when ``xinclude()`` is called, and nothing in the hub calls it) and keeps libxml2's default limits
(``huge_tree=False``: text nodes of at most 10 MB, depth at most 256). On top, :func:`parse` refuses a DOCTYPE
of any kind, any entity reference left in the tree, documents over ``xml_bytes`` and element nesting over
``xml_depth`` (hub.limits in hub.yaml), with the code ``xml.refused``.

zeep (the SOAP connector, connectors/dancu.py) parses with its own parser; it is built with
``forbid_dtd``, ``forbid_entities`` and ``forbid_external`` and ``xml_huge_tree=False``, and tests assert it.
"""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from hub import errors
from hub.errors import HubError
from hub.limits import DEFAULT, Limits


class XmlRefused(HubError, ValueError):
    """Raised by :func:`parse`; a ValueError too, so callers that map ValueError to their own code still do."""

    def __init__(self, detail: str) -> None:
        super().__init__(errors.XML_REFUSED, detail)


def parser() -> etree.XMLParser:
    """A new parser per call: lxml parsers are not safe to share across green threads."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=False, remove_pis=False)


def check_tree(root: etree._Element, limits: Limits = DEFAULT) -> etree._Element:
    """Refuse what the parser let through but the hub never accepts: DOCTYPE, entities, deep nesting."""
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise XmlRefused("DOCTYPE declarations are not accepted.")
    depth: dict[etree._Element, int] = {root: 1}
    for element in root.iterdescendants():
        if isinstance(element, etree._Entity):
            raise XmlRefused("Entity references are not accepted.")
        level = depth[element.getparent()] + 1  # type: ignore[index]
        if level > limits.xml_depth:
            raise XmlRefused(f"Elements are nested deeper than {limits.xml_depth} levels.")
        depth[element] = level
    return root


def parse(data: bytes, limits: Limits = DEFAULT, what: str = "XML document") -> etree._Element:
    """The root element of ``data``, or :class:`XmlRefused` saying why not."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("parse() takes the bytes received")
    if len(data) > limits.xml_bytes:
        raise XmlRefused(f"The {what} is larger than {limits.xml_bytes} bytes.")
    try:
        root = etree.fromstring(bytes(data), parser=parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRefused(f"The {what} is not well-formed XML ({str(exc)[:120]}).") from None
    if root is None:
        raise XmlRefused(f"The {what} is empty.")
    return check_tree(root, limits)


def parse_file(path: str | Path) -> etree._ElementTree:
    """A file of the hub's own (XSD, WSDL) with the same parser: a local schema can hold no entity either."""
    tree = etree.parse(str(path), parser())
    check_tree(tree.getroot())
    return tree
