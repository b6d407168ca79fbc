"""A local stand-in for PISTE + Chorus Pro, served over real HTTP."""
