"""Faces in photos and video: detection, alignment to the 96x96 crops the
networks read, annotated pictures and videos with their CSV tables."""
