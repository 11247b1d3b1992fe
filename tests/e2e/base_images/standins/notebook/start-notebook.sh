#!/bin/bash
# STAND-IN (tests only): the older name of the start command, kept for images that use it.
exec start-notebook.py "$@"
