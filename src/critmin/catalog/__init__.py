"""critmin.catalog"""
