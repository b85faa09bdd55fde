from rest_framework.pagination import PageNumberPagination


class DefaultPagination(PageNumberPagination):
    """``?page=N&page_size=M``; the page size is bounded so no list is unbounded."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
