"""Rendering: the software mesh rasteriser of the 3D worlds and the 2D drawing of frames (scanpaths,
retina boxes, heat maps) shared by ``env.render()`` and the viewer."""
