"""The engine every world family runs on: the ``World`` (N episodes of one family), the single env
and the native vector env over it, the retina, the coordinate and rotation conventions, the
keyword tables, the reset/step input checks and the render window. Nothing here knows a family."""
