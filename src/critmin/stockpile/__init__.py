"""critmin.stockpile"""
