"""The monitoring platform (county, city, province tiers): API, models, pages."""
