select $tag$ @not $x$ $tag$ as s, E'\\'@no' /* @c /* nested */ */ -- @d
, @yes, a @> b, @yes