# Numbers in Simplified Chinese as CLDR writes them (#,##0.###): a comma every three digits. Django's own Chinese
# format has no grouping, so ¥29800.00 in Chinese would read ¥29,800.00 in English. Django looks here first and
# takes every other format from its own zh_Hans module.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
