"""Excel add-in (.xlam) builder: VBA project writer ([MS-OVBA], [MS-CFB]) and the OOXML package around it."""
