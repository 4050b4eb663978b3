"""critmin.policy"""
