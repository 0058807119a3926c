# The k3s agent image (role `agent`).

DESCRIPTION = "n3x k3s agent image"

require n3x-image.inc

IMAGE_INSTALL:append = " k3s-agent"
