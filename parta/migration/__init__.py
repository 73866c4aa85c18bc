"""Moving a school into Parta from elsewhere: importing its lists of people."""
