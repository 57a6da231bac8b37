"""Composition: each Lambda function's app (chat, preferences, feedback, the scheduled jobs)
and the development server, built from the capabilities below.

This is the only package that imports many capabilities and the only one that builds anything
for a whole process (clients, services, caches); ``functions/*`` and the ``parley`` command
import only from it. A capability declares what its routes need as one typed object
(``parley.http.collaborators``); an app here builds those objects once and gives them to
``parley.http.create_app``, which refuses to start when a route's collaborator is missing.
"""
