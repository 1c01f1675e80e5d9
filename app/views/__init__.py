"""Views over the corpus that a result list cannot give: concordance, trends, similar plans."""
