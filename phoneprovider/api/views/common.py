"""What the API's resource views share."""

# The code a test send carries, so templates that print {{ code }} render something real.
TEST_CODE = "123456"
BOOLEAN_QUERY = {"type": "boolean"}


def paged(items, query: dict, key: str, render) -> dict:
    page = query.get("page", 0)
    per_page = query.get("per_page", 20)
    total = len(items) if isinstance(items, list) else items.count()
    chunk = items[page * per_page : (page + 1) * per_page]
    return {"total": total, "page": page, "per_page": per_page, key: [render(i) for i in chunk]}
