"""The synthetic world: a seated figure (``figure``), the motion programs of the 52 MA-52
classes (``motions``) and the writer of clip sets in the MA-52 layout (``clips``). Nothing on
the train/test path imports this package; it only writes videos that the data layer reads."""
