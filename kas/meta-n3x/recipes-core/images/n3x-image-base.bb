# The base image of every machine (role `base`).

DESCRIPTION = "n3x base image"

require n3x-image.inc
